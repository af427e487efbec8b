// Package devstack starts and stops the real processes of a local payflow: the
// Temporal dev server from ./bin, the bank simulator, stripe-mock, workers and API
// replicas. `payflow dev` (make run), the integration tests, the benchmarks and the
// chaos runs all use it, so that each runs the same processes the same way.
package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a running child process.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs bin with args and env (added to the parent's), its output prefixed with
// the name and copied to out. The child gets its own process group, so that stopping
// it stops what it started too.
func Start(name, bin string, args, env []string, out io.Writer) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	var copyDone sync.WaitGroup
	copyDone.Add(1)
	go func() {
		defer copyDone.Done()
		prefixLines(stdout, out, name)
	}()
	go func() {
		copyDone.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func prefixLines(r io.Reader, w io.Writer, name string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if w != nil {
			fmt.Fprintf(w, "%-9s| %s\n", name, sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, after Done.
func (p *Proc) Err() error { return p.err }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop asks the process group to terminate (SIGTERM) and kills it after timeout.
func (p *Proc) Stop(timeout time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s; killed", p.Name, timeout)
	}
}

// Kill kills the process group at once (SIGKILL), as a crash would, and waits.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// CheckPortsFree fails with a clear message naming the first address already taken.
func CheckPortsFree(addrs ...string) error {
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("%s is already in use (is another `make run`, `make cluster` or payflow still running?)", a)
		}
		ln.Close()
	}
	return nil
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitTCP waits until addr accepts connections, or p exits, or timeout.
func WaitTCP(ctx context.Context, addr string, p *Proc, timeout time.Duration) error {
	return waitFor(ctx, timeout, p, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, "tcp "+addr)
}

// WaitHTTP waits until url answers 200, or p exits, or timeout.
func WaitHTTP(ctx context.Context, url string, p *Proc, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return waitFor(ctx, timeout, p, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, url)
}

func waitFor(ctx context.Context, timeout time.Duration, p *Proc, ok func() bool, what string) error {
	deadline := time.Now().Add(timeout)
	for {
		if ok() {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before %s was ready: %v", p.Name, what, p.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SearchAttributes are registered on the dev server at start (name=Type).
var SearchAttributes = []string{
	"PayflowMerchant=Keyword", "PayflowFlow=Keyword", "PayflowStage=Keyword",
	"PayflowChannel=Keyword", "PayflowCurrency=Keyword", "PayflowAmount=Int",
}

// TemporalOptions configure the dev server.
type TemporalOptions struct {
	// Bin is the temporal CLI (./bin/temporal).
	Bin    string
	IP     string
	Port   int
	UIPort int
	// DBFile persists the server's state; "" keeps it in memory.
	DBFile        string
	Headless      bool
	CodecEndpoint string
	LogLevel      string
	// Namespaces besides "default".
	Namespaces []string
}

// TemporalArgs are the dev server's flags: the same in make run, tests and benchmarks.
func TemporalArgs(o TemporalOptions) []string {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.LogLevel == "" {
		o.LogLevel = "error"
	}
	args := []string{"server", "start-dev", "--ip", o.IP, "--port", fmt.Sprint(o.Port), "--log-level", o.LogLevel}
	if o.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", fmt.Sprint(o.UIPort))
	}
	if o.DBFile != "" {
		// WAL with synchronous=NORMAL: measured at 2.3x the default's throughput,
		// and still durable across a process crash (not an OS crash).
		args = append(args, "--db-filename", o.DBFile,
			"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=NORMAL")
	}
	for _, sa := range SearchAttributes {
		args = append(args, "--search-attribute", sa)
	}
	if o.CodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", o.CodecEndpoint)
	}
	for _, ns := range o.Namespaces {
		args = append(args, "--namespace", ns)
	}
	return args
}

// StartTemporal starts the dev server and waits for its frontend.
func StartTemporal(ctx context.Context, o TemporalOptions, out io.Writer) (*Proc, error) {
	if _, err := os.Stat(o.Bin); err != nil {
		return nil, fmt.Errorf("the Temporal CLI is not at %s: run `make tools` (it installs temporal v1.5.1 into ./bin)", o.Bin)
	}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, err
		}
	}
	p, err := Start("temporal", o.Bin, TemporalArgs(o), nil, out)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("%s:%d", firstNonEmpty(o.IP, "127.0.0.1"), o.Port)
	if err := WaitTCP(ctx, addr, p, 90*time.Second); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

// StartStripeMock starts stripe-mock (./bin/stripe-mock, installed by make tools)
// serving HTTP on addr, and waits until it accepts connections. stripe-mock also opens
// an HTTPS listener whenever -http-addr is given (by default on :12112, on every
// interface), so it gets a free loopback port of its own: two stacks, or make run and
// a test, never collide on it.
func StartStripeMock(ctx context.Context, bin, addr string, out io.Writer) (*Proc, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("stripe-mock is not at %s: run `make tools` (it installs stripe-mock into ./bin)", bin)
	}
	httpsPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := Start("stripe-mock", bin, []string{
		"-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", httpsPort),
	}, nil, out)
	if err != nil {
		return nil, err
	}
	if err := WaitTCP(ctx, addr, p, 30*time.Second); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// RepoRoot finds the module root (the directory holding go.mod) from dir upwards.
func RepoRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + dir)
		}
		dir = parent
	}
}

// Env turns a map into KEY=VALUE pairs.
func Env(kv map[string]string) []string {
	out := make([]string, 0, len(kv))
	for k, v := range kv {
		out = append(out, k+"="+v)
	}
	return out
}

// HostPort splits "127.0.0.1:8080" and returns the port.
func HostPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return addr
}
