package netlink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestBackupStreams(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), (3*backupChunkSize)/16+5) // several chunks and a part
	h := &fakeHandler{backup: func(context.Context) (Backup, error) {
		return Backup{Index: 42, Term: 3, Write: func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		}}, nil
	}}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	var got bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	index, term, err := c.Backup(ctx, &got)
	if err != nil || index != 42 || term != 3 {
		t.Fatalf("Backup = %d, %d, %v", index, term, err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes, want the %d written", got.Len(), len(data))
	}
	// The connection serves on: a second backup, and a status.
	got.Reset()
	if _, _, err := c.Backup(ctx, &got); err != nil || got.Len() != len(data) {
		t.Fatalf("second Backup: %v, %d bytes", err, got.Len())
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("status after the backups: %v", err)
	}
}

func TestBackupRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	t.Run("not the leader", func(t *testing.T) {
		h := &fakeHandler{backup: func(context.Context) (Backup, error) {
			return Backup{}, &NotLeaderError{LeaderID: "n2", LeaderAddr: "127.0.0.1:7002"}
		}}
		_, addr, _ := startServer(t, testServerConfig(), h)
		_, _, err := dial(t, addr).Backup(ctx, io.Discard)
		nl, ok := errors.AsType[*NotLeaderError](err)
		if !ok || nl.LeaderID != "n2" || nl.LeaderAddr != "127.0.0.1:7002" {
			t.Fatalf("err %v, want NotLeaderError naming n2", err)
		}
	})
	t.Run("write fails midway", func(t *testing.T) {
		h := &fakeHandler{backup: func(context.Context) (Backup, error) {
			return Backup{Index: 1, Term: 1, Write: func(w io.Writer) error {
				w.Write(make([]byte, 10))
				return errors.New("disk on fire")
			}}, nil
		}}
		_, addr, _ := startServer(t, testServerConfig(), h)
		_, _, err := dial(t, addr).Backup(ctx, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("err %v, want the node's failure", err)
		}
	})
}
