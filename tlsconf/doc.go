// Package tlsconf builds the mutual-TLS configurations of easykv's
// connections from cluster.yaml's tls section: TLS 1.3 only, both ends
// present a certificate, and both are checked against the cluster's CA.
//
// A Source holds the CA, certificate and key read from their files and
// reads them again on Reload (SIGHUP on a node), so certificates can be
// rotated without restarting: connections made after a Reload present and
// check against what it read; connections already up carry on.
package tlsconf
