package console

import (
	"fmt"
	"strings"
	"time"
)

// stepLabel is a saga step or status as people read it:
// "INVENTORY_RESERVED" -> "Inventory reserved".
func stepLabel(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ToLower(strings.ReplaceAll(s, "_", " "))
	return strings.ToUpper(s[:1]) + s[1:]
}

// statusClass is the CSS class of a status badge.
func statusClass(s string) string { return "status-" + strings.ToLower(s) }

// timeFmt shows a time in UTC to the millisecond, or a dash when unset.
func timeFmt(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// ago is how long before now t was, roughly.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
