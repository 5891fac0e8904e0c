package main

// Free loopback ports for embedded etcd. The chosen ports are remembered in
// DIR/etcd-ports.json and reused on restart (etcd records its peer URL in its data),
// unless another process has taken one meanwhile.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
)

type etcdPorts struct {
	Client int `json:"client"`
	Peer   int `json:"peer"`
}

// loadOrPickEtcdPorts returns the remembered ports when both are still free, new free
// ports otherwise, and saves what it returns.
func loadOrPickEtcdPorts(path string) (etcdPorts, error) {
	var p etcdPorts
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &p) == nil &&
		p.Client > 0 && p.Peer > 0 && p.Client != p.Peer && portFree(p.Client) && portFree(p.Peer) {
		return p, nil
	}
	ports, err := freePorts(2)
	if err != nil {
		return p, fmt.Errorf("finding free ports for etcd: %w", err)
	}
	p = etcdPorts{Client: ports[0], Peer: ports[1]}
	b, _ := json.Marshal(p)
	return p, writeFileAtomic(path, append(b, '\n'), 0o644)
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portFree reports whether 127.0.0.1:port can be bound right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
