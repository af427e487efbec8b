//go:build cluster

package clustertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
)

// sqlCounter sits between payflow's processes and MariaDB and counts the commands
// they send, by kind and statement verb, from the MySQL wire protocol (the server
// runs without TLS here). MariaDB's own counters are global and the server is shared
// with other work; this counts payflow's statements alone, exactly, with the round
// trips they take.
type sqlCounter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	counts map[string]float64
}

func startSQLCounter(target string) (*sqlCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sqlCounter{ln: ln, target: target, counts: map[string]float64{}}
	go s.serve()
	return s, nil
}

func (s *sqlCounter) Addr() string { return s.ln.Addr().String() }

func (s *sqlCounter) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.relay(conn)
	}
}

func (s *sqlCounter) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", s.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		client.Close()
	}()
	r := bufio.NewReaderSize(client, 64<<10)
	var header [4]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return
		}
		n := int(header[0]) | int(header[1])<<8 | int(header[2])<<16
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		// A command is the first packet of its exchange (sequence 0); the handshake's
		// packets from the client have sequence 1 and up.
		if header[3] == 0 && n > 0 {
			s.count(payload)
		}
		if _, err := server.Write(append(header[:], payload...)); err != nil {
			return
		}
	}
}

// MySQL command bytes.
const (
	comQuery       = 0x03
	comPing        = 0x0e
	comStmtPrepare = 0x16
	comStmtExecute = 0x17
	comStmtClose   = 0x19
)

func (s *sqlCounter) count(p []byte) {
	var keys []string
	switch p[0] {
	case comQuery:
		keys = []string{"query." + verb(p[1:]), "roundtrip"}
	case comStmtPrepare:
		keys = []string{"prepare." + verb(p[1:]), "roundtrip"}
	case comStmtExecute:
		keys = []string{"execute", "roundtrip"}
	case comStmtClose:
		// No answer: not a round trip.
		keys = []string{"close"}
	case comPing:
		keys = []string{"ping", "roundtrip"}
	default:
		keys = []string{fmt.Sprintf("command_%#x", p[0]), "roundtrip"}
	}
	s.mu.Lock()
	for _, k := range keys {
		s.counts[k]++
	}
	s.mu.Unlock()
}

// verb is a statement's first keyword, lowercased (comments skipped).
func verb(q []byte) string {
	text := strings.TrimSpace(string(q))
	for strings.HasPrefix(text, "/*") {
		end := strings.Index(text, "*/")
		if end < 0 {
			break
		}
		text = strings.TrimSpace(text[end+2:])
	}
	f := strings.Fields(text)
	if len(f) == 0 {
		return "empty"
	}
	return strings.ToLower(strings.Trim(f[0], "("))
}

// snapshot adds the counts so far as "sql.<key>".
func (s *sqlCounter) snapshot(into map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.counts {
		into["sql."+k] = v
	}
}
