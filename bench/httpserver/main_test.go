package main

import (
	"context"
	"io"
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
