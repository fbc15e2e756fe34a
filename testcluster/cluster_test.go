package testcluster

import (
	"net"
	"testing"
)

// A port freeAddr handed out may be taken before the node listens on it:
// the first start moves to fresh ports instead of failing the test.
func TestStartFirstRetriesATakenPort(t *testing.T) {
	c := New(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	i := len(c.nodes)
	c.nodes = append(c.nodes, &member{id: "node-x", dir: t.TempDir() + "/x", httpAddr: freeAddr(t), raftAddr: ln.Addr().String()})
	if err := c.startFirst(i, false, true); err != nil {
		t.Fatal(err)
	}
	if c.nodes[i].raftAddr == ln.Addr().String() {
		t.Fatal("kept the taken port")
	}
}
