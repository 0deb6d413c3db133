package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiErrorText reads a jobs API error answer ({"error":…,"field":…}) as
// the page says it. A refused token is said in the page's terms: the
// token comes in the page's address (tokenSent: there was one).
func apiErrorText(status string, code int, body []byte, tokenSent bool) string {
	if code == http.StatusUnauthorized {
		if tokenSent {
			return "the server refused the token in the page's address (?token=): it is not the one its plateau serve -token set"
		}
		return "this server needs its token (plateau serve -token): open the page with ?token=TOKEN added to its address"
	}
	var e struct{ Error, Field string }
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		if e.Field != "" {
			return fmt.Sprintf("%s (%s)", e.Error, e.Field)
		}
		return e.Error
	}
	return fmt.Sprintf("%s: %s", status, strings.TrimSpace(string(body)))
}
