// Package testkit holds what tests in several packages share. Poll waits
// for a condition with a deadline and a message, so that no test sleeps
// to wait for something it can check.
package testkit
