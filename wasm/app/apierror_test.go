package main

import (
	"strings"
	"testing"
)

// The page says a jobs API error in its own terms: the server's message
// and field, and a refused token as the page's address, which carries it.
func TestAPIErrorText(t *testing.T) {
	for _, c := range []struct {
		name      string
		code      int
		body      string
		tokenSent bool
		want      string
	}{
		{"field", 400, `{"error":"epochs must be positive, not -3","field":"epochs"}`, false, "epochs must be positive, not -3 (epochs)"},
		{"no field", 429, `{"error":"the queue is full"}`, false, "the queue is full"},
		{"not JSON", 502, "bad gateway\n", false, "502 Bad Gateway: bad gateway"},
		{"no token", 401, `{"error":"this server needs its token: send Authorization: Bearer TOKEN or add ?token=TOKEN"}`, false, "open the page with ?token=TOKEN added to its address"},
		{"wrong token", 401, `{"error":"the token sent is not this server's"}`, true, "refused the token in the page's address (?token=)"},
	} {
		status := map[int]string{400: "400 Bad Request", 429: "429 Too Many Requests", 502: "502 Bad Gateway", 401: "401 Unauthorized"}[c.code]
		if got := apiErrorText(status, c.code, []byte(c.body), c.tokenSent); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
