// Command easykv-ctl is the scriptable client of an easykv cluster: it reads
// cluster.yaml, talks to the nodes over netlink and prints a table for people
// or JSON (-o json) for scripts.
//
//	easykv-ctl --cluster cluster.yaml status
//	easykv-ctl --cluster cluster.yaml status -o json
//	easykv-ctl --cluster cluster.yaml pause n1
//	easykv-ctl --cluster cluster.yaml resume n1
//
// Exit status: 0 success; 1 a node refused the command; 2 usage or
// configuration error (one line on stderr); 3 no node could be reached.
//
// Commands live in a table (commands.go); each one is a function of an
// invocation, so adding one is a new file and a new row.
package main
