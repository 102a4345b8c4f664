package discordhttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientRewritesDiscordOnly(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.Host+" "+r.URL.RequestURI())
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	tests := []struct {
		name, api, url, want string
	}{
		{"base without path", srv.URL, "https://discord.com/api/v9/channels/1/messages?wait=true",
			"GET " + srv.Listener.Addr().String() + " /api/v9/channels/1/messages?wait=true"},
		{"base with a path prefix", srv.URL + "/proxy/", "https://discord.com/api/v9/gateway",
			"GET " + srv.Listener.Addr().String() + " /proxy/api/v9/gateway"},
		{"other hosts pass", srv.URL + "/proxy", srv.URL + "/direct",
			"GET " + srv.Listener.Addr().String() + " /direct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			c, err := Client(tc.api, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("server saw %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClientRefusesBadURL(t *testing.T) {
	for _, u := range []string{"discord.local", "ftp://127.0.0.1/", "http://"} {
		if _, err := Client(u, nil); err == nil {
			t.Errorf("Client(%q) accepted", u)
		}
	}
	c, err := Client("", nil)
	if err != nil || c.Timeout != DefaultTimeout {
		t.Errorf("Client(\"\") = %+v, %v", c, err)
	}
}
