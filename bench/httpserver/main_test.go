package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMux(t *testing.T) {
	mux := newMux(time.Hour)
	tests := []struct {
		name       string
		path       string
		cancelled  bool
		wantStatus int
		wantBody   string
	}{
		{name: "ok", path: "/ok?i=7", wantStatus: 200, wantBody: "ok"},
		// A /hang whose client is gone returns at once, with nothing written.
		{name: "hang, client gone", path: "/hang?i=1", cancelled: true, wantStatus: 200, wantBody: ""},
		{name: "unknown", path: "/nope", wantStatus: 404, wantBody: "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, tt.path, nil)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, rec.Code, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	tests := []string{"0.0.0.0:0", ":0", "localhost:0", "nonsense"}
	for _, addr := range tests {
		var stderr strings.Builder
		if code := run([]string{"-addr", addr}, &stderr); code != 2 {
			t.Errorf("run -addr %s = %d, want 2 (stderr %q)", addr, code, stderr.String())
		}
	}
}

func TestParseAddrs(t *testing.T) {
	tests := []struct {
		list    string
		want    int
		wantErr bool
	}{
		{list: "127.0.0.1:0", want: 1},
		{list: "127.3.0.1:0,127.3.0.2:0, 127.3.0.3:8080", want: 3},
		{list: "[::1]:0", want: 1},
		{list: "127.3.0.1:0,0.0.0.0:0", wantErr: true},
		{list: "127.3.0.1:0,", wantErr: true},
		{list: "10.0.0.1:80", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseAddrs(tt.list)
		if (err != nil) != tt.wantErr || (!tt.wantErr && len(got) != tt.want) {
			t.Errorf("parseAddrs(%q) = %q, %v; want %d addresses, error %v", tt.list, got, err, tt.want, tt.wantErr)
		}
	}
}

// fakeConn is a distinct net.Conn for the ConnState hook, which only uses
// it as a map key.
type fakeConn struct {
	net.Conn
	id int
}

func TestConnState(t *testing.T) {
	type step struct {
		conn int
		cs   http.ConnState
	}
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{
			name: "one connection, three requests",
			steps: []step{{1, http.StateNew}, {1, http.StateActive}, {1, http.StateIdle},
				{1, http.StateActive}, {1, http.StateIdle}, {1, http.StateActive}, {1, http.StateIdle}, {1, http.StateClosed}},
			want: "1 0 1 1\n",
		},
		{
			name: "two idle at once, then both closed",
			steps: []step{{1, http.StateNew}, {1, http.StateActive}, {1, http.StateIdle},
				{2, http.StateNew}, {2, http.StateActive}, {2, http.StateIdle},
				{1, http.StateClosed}, {2, http.StateClosed}, {3, http.StateNew}, {3, http.StateClosed}},
			want: "3 0 2 2\n",
		},
		{
			name:  "closed before a request, hijacked",
			steps: []step{{1, http.StateNew}, {1, http.StateClosed}, {2, http.StateNew}, {2, http.StateActive}, {2, http.StateHijacked}},
			want:  "2 0 1 0\n",
		},
		{
			// A state change for a connection never seen as new (the hook
			// missed it) must not drive the counts negative.
			name:  "unknown connection closed",
			steps: []step{{9, http.StateClosed}},
			want:  "0 0 0 0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStats()
			conns := map[int]net.Conn{}
			for _, st := range tt.steps {
				if conns[st.conn] == nil {
					conns[st.conn] = &fakeConn{id: st.conn}
				}
				s.connState(conns[st.conn], st.cs)
			}
			if got := s.line(); got != tt.want {
				t.Errorf("line() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStatsServer counts a keep-alive client's requests on one connection
// and a client without keep-alive's on one connection each.
func TestStatsServer(t *testing.T) {
	s := newStats()
	srv := httptest.NewUnstartedServer(s.count(newMux(time.Hour)))
	srv.Config.ConnState = s.connState
	srv.Start()
	defer srv.Close()

	get := func(c *http.Client) {
		t.Helper()
		resp, err := c.Get(srv.URL + "/ok")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	keep := &http.Client{Transport: &http.Transport{}}
	for range 3 {
		get(keep)
	}
	keep.CloseIdleConnections()
	once := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 2 {
		get(once)
	}
	if got := s.line(); !strings.HasPrefix(got, "3 5 ") {
		t.Errorf("line() = %q, want 3 connections and 5 requests first", got)
	}
}
