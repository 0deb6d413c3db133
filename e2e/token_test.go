package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A server started with -token keeps its jobs API to those who have it:
// the page, opened without the token or with another, says how to give it
// beside Run on server, and a run sent there fails saying the same; with
// the token in the page's address, the server's backend shows and a run
// trains there.
func TestServerNeedsItsToken(t *testing.T) {
	p := start(t)
	srv := exec.Command(filepath.Join(p.dir, "plateau"), "serve", "-addr", "127.0.0.1:0", "-token", "s3cret",
		"-data", filepath.Join(p.dir, "data"), "-root", filepath.Join(p.dir, "root"), "-jobs", t.TempDir())
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("plateau serve -token: %v", err)
	}
	url := strings.Fields(strings.TrimPrefix(line, "serving the page on "))[0]
	open := func(query string) context.Context {
		ctx, cancel := chromedp.NewContext(p.browser)
		t.Cleanup(cancel)
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"/?dataset=tiny"+query)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `document.querySelectorAll("#samples img").length > 0`, "the sample grid")
		return ctx
	}

	ctx := open("")
	waitFor(t, ctx, `document.querySelector("#server-refused") && document.querySelector("#server-refused").textContent.includes("open the page with ?token=TOKEN added to its address")`,
		"the page saying the server needs its token")
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#message") && document.querySelector("#message").textContent.includes("the server run failed: this server needs its token")`,
		"the run on the server failing with how to give the token")

	ctx = open("&token=nope")
	waitFor(t, ctx, `document.querySelector("#server-refused") && document.querySelector("#server-refused").textContent.includes("refused the token in the page's address")`,
		"the page saying the token is not the server's")

	ctx = open("&token=s3cret")
	waitFor(t, ctx, `document.querySelector("#server-backend") && document.querySelector("#server-backend").textContent.includes("native")`, "the server's backend")
	if eval[bool](t, ctx, `!!document.querySelector("#server-refused")`) {
		t.Error("the page with the server's token says it was refused")
	}
	click(t, ctx, "#tab-Training")
	set(t, ctx, "#epochs", "1")
	click(t, ctx, "#run-server")
	waitFor(t, ctx, `document.querySelector("#run-result") && document.querySelector("#run-result").textContent.includes("completed")`, "the run on the server with its token")
}
