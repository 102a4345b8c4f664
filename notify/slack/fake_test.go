package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testToken is the bot token of every test notifier.
const testToken = "xoxb-1111-2222-SeCrEtToKeN"

// fakeSlack speaks the part of Slack's Web API the notifier uses:
// chat.postMessage and chat.update as form posts, answered with Slack's
// JSON. It serves as an http.Handler (behind httptest on 127.0.0.1) and as
// an in-process http.RoundTripper (inside synctest bubbles, where network
// I/O would not be durably blocking).
type fakeSlack struct {
	mu   sync.Mutex
	reqs []fakeReq
	seq  int
	// answer, when set, answers the i-th request (0-based); a zero
	// fakeAnswer is Slack's ok:true.
	answer func(i int, r fakeReq) fakeAnswer
}

// fakeReq is one request the fake received.
type fakeReq struct {
	Method string // "chat.postMessage"
	Form   url.Values
	At     time.Time
}

// fakeAnswer is how the fake answers one request.
type fakeAnswer struct {
	Status     int         // 0: 200
	StatusLine string      // replaces the status text (RoundTripper only)
	Header     http.Header // extra headers
	Body       string      // "": ok:true with channel and a new ts
	Err        error       // RoundTripper only: fail the round trip
}

// slackError is Slack's ok:false answer with code.
func slackError(code string) fakeAnswer {
	return fakeAnswer{Body: fmt.Sprintf(`{"ok":false,"error":%q}`, code)}
}

func (f *fakeSlack) record(r *http.Request) (int, fakeReq, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, fakeReq{}, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return 0, fakeReq{}, err
	}
	req := fakeReq{Method: strings.TrimPrefix(r.URL.Path, "/api/"), Form: form, At: time.Now()}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return len(f.reqs) - 1, req, nil
}

func (f *fakeSlack) answerTo(i int, req fakeReq) fakeAnswer {
	var a fakeAnswer
	if f.answer != nil {
		a = f.answer(i, req)
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	if a.Body == "" && a.Status == http.StatusOK {
		f.mu.Lock()
		f.seq++
		ts := fmt.Sprintf("1764072000.%06d", f.seq)
		f.mu.Unlock()
		if t := req.Form.Get("ts"); req.Method == "chat.update" && t != "" {
			ts = t
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "channel": req.Form.Get("channel"), "ts": ts})
		a.Body = string(b)
	}
	return a
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, req, err := f.record(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a := f.answerTo(i, req)
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

func (f *fakeSlack) RoundTrip(r *http.Request) (*http.Response, error) {
	i, req, err := f.record(r)
	if err != nil {
		return nil, err
	}
	a := f.answerTo(i, req)
	if a.Err != nil {
		return nil, a.Err
	}
	rec := httptest.NewRecorder()
	for k, vs := range a.Header {
		rec.Header()[k] = vs
	}
	rec.Header().Set("Content-Type", "application/json; charset=utf-8")
	rec.WriteHeader(a.Status)
	_, _ = io.WriteString(rec, a.Body)
	resp := rec.Result()
	if a.StatusLine != "" {
		resp.Status = fmt.Sprintf("%d %s", a.Status, a.StatusLine)
	}
	resp.Request = r
	return resp, nil
}

// requests returns a copy of the requests received so far.
func (f *fakeSlack) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.reqs...)
}

// newTestNotifier returns a Notifier on channel C1 talking to f in-process,
// without pacing, logging into the returned buffer (JSON, debug level).
func newTestNotifier(t *testing.T, f *fakeSlack, edit ...func(*Config)) (*Notifier, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		Token:       testToken,
		Channel:     "C1",
		APIURL:      "http://slack.test/api/",
		HTTPClient:  &http.Client{Transport: f},
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinInterval: -1,
	}
	for _, e := range edit {
		e(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n, logs
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
