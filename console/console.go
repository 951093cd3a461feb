// Package console is the operator console served at /console: search
// orders, follow one live, cancel it or re-drive its saga, find, replay
// and discard dead letters, and see the read models', the dependencies'
// and the circuit breakers' health.
//
// It is a client of the public GraphQL API and nothing else. Pages are
// server-rendered html/template shells without data; their data comes in
// fragments that htmx loads with the operator's token (kept in the
// browser's sessionStorage, sent as an Authorization header), and each
// fragment is rendered from a GraphQL request made with that same token.
// So the console can show nothing the token could not read through
// /graphql itself: a customer's token gets FORBIDDEN for the search, the
// health data and anything else admin only. The live view subscribes
// from the browser over the API's graphql-transport-ws websocket.
//
// Every asset (htmx, the console's script and style sheet) is embedded and
// served from /console/assets/: no CDN, no build step. htmx is the file
// dist/htmx.min.js of the npm package htmx.org, kept as it is published
// with its version in its name (and its licence beside it); to upgrade,
// replace the file and its name in templates/layout.html.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
)

//go:embed assets templates
var files embed.FS

// Prefix is where the console is mounted.
const Prefix = "/console"

// Options are what the console needs from the process serving it.
type Options struct {
	// GraphQL is the API's handler (the one mounted at GraphQLPath). The
	// console's fragments call it in process with the browser's token.
	GraphQL http.Handler
	// GraphQLPath is where browsers reach the API, for the live
	// subscription's websocket. Default "/graphql".
	GraphQLPath string
	// Readiness reports each dependency's state ("ok" or why not), as
	// /readyz does; nil shows none.
	Readiness func(ctx context.Context) (map[string]string, bool)
	Logger    *slog.Logger
}

// Console serves the pages, fragments and assets under Prefix.
type Console struct {
	opts  Options
	pages map[string]*template.Template
	frags *template.Template
	mux   *http.ServeMux
}

// New parses the embedded templates and returns the console.
func New(opts Options) (*Console, error) {
	if opts.GraphQL == nil {
		return nil, errors.New("console: GraphQL handler required")
	}
	if opts.GraphQLPath == "" {
		opts.GraphQLPath = "/graphql"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{opts: opts, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	assets, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, err
	}
	m := c.mux
	m.HandleFunc("GET "+Prefix+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/orders", http.StatusSeeOther)
	})
	m.Handle("GET "+Prefix+"/assets/", http.StripPrefix(Prefix+"/assets/", assetHeaders(http.FileServerFS(assets))))
	m.HandleFunc("GET "+Prefix+"/sign-in", c.page("sign-in", nil))
	m.HandleFunc("GET "+Prefix+"/orders", c.page("orders", ordersPageData))
	m.HandleFunc("GET "+Prefix+"/orders/{id}", c.page("order", orderPageData))
	m.HandleFunc("GET "+Prefix+"/dead-letters", c.page("dead-letters", deadLettersPageData))
	m.HandleFunc("GET "+Prefix+"/dead-letters/{id}", c.page("dead-letter", deadLetterPageData))
	m.HandleFunc("GET "+Prefix+"/health", c.page("health", nil))
	m.HandleFunc("POST "+Prefix+"/fragments/session", c.session)
	m.HandleFunc("GET "+Prefix+"/fragments/orders", c.ordersFragment)
	m.HandleFunc("GET "+Prefix+"/fragments/orders/{id}", c.orderFragment)
	m.HandleFunc("POST "+Prefix+"/fragments/orders/{id}/cancel", c.cancelOrder)
	m.HandleFunc("POST "+Prefix+"/fragments/orders/{id}/redrive", c.redriveOrderSaga)
	m.HandleFunc("GET "+Prefix+"/fragments/dead-letters", c.deadLettersFragment)
	m.HandleFunc("POST "+Prefix+"/fragments/dead-letters/replay", c.replayAggregate)
	m.HandleFunc("GET "+Prefix+"/fragments/dead-letters/{id}", c.deadLetterFragment)
	m.HandleFunc("POST "+Prefix+"/fragments/dead-letters/{id}/replay", c.replayDeadLetter)
	m.HandleFunc("POST "+Prefix+"/fragments/dead-letters/{id}/discard", c.discardDeadLetter)
	m.HandleFunc("GET "+Prefix+"/fragments/health", c.healthFragment)
	return c, nil
}

// ServeHTTP serves everything under Prefix, with headers that keep the
// pages out of frames and caches and let them load only their own assets.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.mux.ServeHTTP(w, r)
}

// assetHeaders lets browsers keep the embedded assets for an hour: they
// change only with the binary.
func assetHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

func (c *Console) parseTemplates() error {
	funcs := template.FuncMap{
		"stepLabel":   stepLabel,
		"statusClass": statusClass,
		"timeFmt":     timeFmt,
		"ago":         ago,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return err
	}
	for _, name := range []string{"sign-in", "orders", "order", "dead-letters", "dead-letter", "health"} {
		t, err := template.Must(layout.Clone()).ParseFS(files, "templates/"+name+".html")
		if err != nil {
			return err
		}
		c.pages[name] = t
	}
	c.frags, err = template.New("fragments").Funcs(funcs).ParseFS(files, "templates/fragments/*.html")
	return err
}

// pageData is what every page's layout needs.
type pageData struct {
	Page        string
	Title       string
	GraphQLPath string
	// Data is the page's own, e.g. the filters of the orders page.
	Data any
}

// page serves a shell: the layout and the page's own template, with data
// built from the URL only (never from the API: the server has no token).
func (c *Console) page(name string, data func(r *http.Request) (title string, d any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pd := pageData{Page: name, GraphQLPath: c.opts.GraphQLPath}
		if data != nil {
			pd.Title, pd.Data = data(r)
		}
		c.render(w, c.pages[name], "layout.html", pd)
	}
}

// fragment renders one fragment template. Fragments answer 200 even when
// the API refused (the refusal is the fragment's content, with its code):
// htmx swaps only successful responses.
func (c *Console) fragment(w http.ResponseWriter, name string, data any) {
	c.render(w, c.frags, name, data)
}

func (c *Console) render(w http.ResponseWriter, t *template.Template, name string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		c.opts.Logger.Error("console template failed", "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
