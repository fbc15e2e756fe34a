package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// The identity headers nginx copies from the forward-auth answer to the
// upstream request, as the README's configuration does.
var nginxIdentityHeaders = []string{"X-Auth-User", "X-Auth-Realm", "X-Auth-Roles", "X-Auth-Authentication-Type",
	"X-Auth-Api-Key-Id", "X-Auth-Api-Key-Name", "X-Auth-Token-Name"}

// nginxConf is the README's nginx configuration, one guarded server per
// node and one unguarded (the benchmark's baseline), with the paths a
// process of the current user may write.
var nginxConf = template.Must(template.New("nginx").Funcs(template.FuncMap{
	"var": func(h string) string {
		return "$auth_" + strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(h, "X-Auth-"), "-", "_"))
	},
	"upstreamVar": func(h string) string {
		return "$upstream_http_" + strings.ToLower(strings.ReplaceAll(h, "-", "_"))
	},
}).Parse(`daemon off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
{{if .User}}user {{.User}};{{end}}
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    # A credential with control characters would make the node's HTTP
    # server answer 400, which auth_request turns into a 500: send none.
    map $http_authorization $forward_auth_credential {
        "~[\x01-\x08\x0a-\x1f\x7f]" "";
        default $http_authorization;
    }
    upstream app { server {{.Upstream}}; keepalive 32; }
{{range $i, $n := .Nodes}}
    upstream tokenstore{{$i}} { server {{$n}}; keepalive 32; }
    server {
        listen {{index $.Ports $i}};
        location = /_forward_auth {
            internal;
            proxy_pass http://tokenstore{{$i}}/_tokenstore/forward_auth;
            proxy_http_version 1.1;
            proxy_pass_request_body off;
            proxy_pass_request_headers off;
            proxy_set_header Connection "";
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $forward_auth_credential;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Host $host;
        }
        location / {
            auth_request /_forward_auth;
{{- range $.Headers}}
            auth_request_set {{var .}} {{upstreamVar .}};
            proxy_set_header {{.}} {{var .}};
{{- end}}
            # The upstream needs the identity, not the secret.
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
{{end}}
    server {
        listen {{.BarePort}};
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`))

// nginxFront is a running nginx: Guarded[i] asks node i, Bare asks no one.
type nginxFront struct {
	Guarded []string
	Bare    string
}

// startNginx runs nginx (daemon off, as the current user, its own prefix
// and configuration under a temporary directory, loopback only) in front
// of upstream, asking each of nodes (host:port); it stops with the test.
// Without nginx the test fails: make test installs it.
func startNginx(tb testing.TB, nodes []string, upstream string) *nginxFront {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			tb.Fatalf("nginx is not installed (make test installs Debian's nginx package): %v", err)
		}
		bin = "/usr/sbin/nginx"
	}
	dir := tb.TempDir()
	ports := make([]string, len(nodes))
	for i := range ports {
		ports[i] = loopbackPort(tb)
	}
	data := map[string]any{"Dir": dir, "Nodes": nodes, "Ports": ports, "BarePort": loopbackPort(tb),
		"Upstream": upstream, "Headers": nginxIdentityHeaders, "User": ""}
	if os.Geteuid() == 0 {
		// Run as root, nginx's workers would otherwise drop to nobody.
		if u, err := user.Current(); err == nil {
			data["User"] = u.Username
		}
	}
	var conf strings.Builder
	if err := nginxConf.Execute(&conf, data); err != nil {
		tb.Fatal(err)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { stopNginx(cmd, exited) })
	front := &nginxFront{Bare: "http://" + data["BarePort"].(string)}
	for _, p := range ports {
		front.Guarded = append(front.Guarded, "http://"+p)
	}
	waitListening(tb, append(ports, data["BarePort"].(string)), exited, dir)
	return front
}

// stopNginx asks the master for a fast shutdown (its workers go with it)
// and kills its process group if it lingers.
func stopNginx(cmd *exec.Cmd, exited chan struct{}) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func waitListening(tb testing.TB, addrs []string, exited chan struct{}, dir string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				tb.Fatalf("nginx exited: %s", log)
			default:
			}
			if time.Now().After(deadline) {
				tb.Fatalf("nginx does not listen on %s", a)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// loopbackPort is a free 127.0.0.1 address.
func loopbackPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rawGet sends one GET with an Authorization header written as bytes, so
// that values a Go client refuses to send (control characters, invalid
// UTF-8) reach nginx as an attacker would send them. auth "" sends none.
func rawGet(tb testing.TB, base, path, auth string) *http.Response {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n"
	if auth != "" {
		req += "Authorization: " + auth + "\r\n"
	}
	if _, err := fmt.Fprint(conn, req+"\r\n"); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	resp.Body.Close()
	return resp
}
