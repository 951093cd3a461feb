package console_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// The dead letters' list pages through the entries of a filter, counts
// them per handler and class, and reads every filter from the URL.
func TestConsoleDeadLettersListPagesAndFilters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	store := f.sys.Service.DeadLetterStore()
	agg := "agg-" + uuid.NewString()[:8]
	park := func(handler, key, typ string, class deadletter.Class, i int) {
		_, added, err := store.Park(ctx, deadletter.Message{
			Handler: handler, Topic: "orderflow.inventory.commands", Partition: 1, Offset: int64(i), Key: key,
			MessageID: uuid.NewString(), Type: typ, Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)),
		}, class, errors.New("cannot handle it"), 1)
		require.NoError(t, err)
		require.True(t, added)
	}
	park("inventory.commands", agg, "inventory.ReserveStock", deadletter.Permanent, 0)
	for i := 1; i <= 21; i++ {
		park("inventory.commands", agg, "inventory.ReserveStock", deadletter.Waiting, i)
	}
	park("projections.products", "other-"+agg, "inventory.StockReserved", deadletter.Transient, 22)

	rows := regexp.MustCompile(`data-dead-letter-id="\d+"`)
	fragment := func(query string) string {
		t.Helper()
		_, _, body := get(t, f.sys.URL+"/console/fragments/dead-letters?"+query, f.admin)
		require.NotContains(t, body, "data-error-code", query)
		return body
	}
	first := fragment("aggregate=" + agg)
	require.Contains(t, first, "<strong>22</strong> entries match")
	require.Len(t, rows.FindAllString(first, -1), 20, "a page holds 20")
	require.Contains(t, first, "Replay the 22 open entries of this aggregate")
	require.Regexp(t, `(?s)data-handler="inventory.commands".*data-class="PERMANENT"><a [^>]*>1</a>.*data-class="WAITING"><a [^>]*>21</a>`, first)
	require.NotContains(t, first, "projections.products", "the counts are the filter's")
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(first)
	require.Len(t, next, 2, "a link to the next page")
	nextURL := html.UnescapeString(next[1])
	require.True(t, strings.HasPrefix(nextURL, "/console/dead-letters?"), nextURL)
	require.Contains(t, nextURL, "after=")
	second := fragment(strings.TrimPrefix(nextURL, "/console/dead-letters?"))
	require.Len(t, rows.FindAllString(second, -1), 2, "the rest")
	require.Contains(t, second, "« First page")
	require.NotContains(t, second, `rel="next"`)

	for query, total := range map[string]string{
		"aggregate=" + agg + "&status=DEAD":              "<strong>1</strong> entry matches",
		"status=PARKED&class=waiting":                    "<strong>21</strong> entries match",
		"handler=projections.products&class=TRANSIENT":   "<strong>1</strong> entry matches",
		"type=inventory.StockReserved":                   "<strong>1</strong> entry matches",
		"from=2000-01-01&to=2000-12-31":                  "<strong>0</strong> entries match",
		"from=" + time.Now().UTC().Format(time.DateOnly): "<strong>23</strong> entries match",
		"": "<strong>23</strong> entries <span",
	} {
		require.Contains(t, fragment(query), total, query)
	}
}

// downPayments is a payment provider that fails every call while down.
type downPayments struct{ down atomic.Bool }

func (p *downPayments) Authorize(ctx context.Context, req payments.Authorization) (payments.Answer, error) {
	if p.down.Load() {
		return payments.Answer{}, payments.ErrProviderUnavailable
	}
	return payments.BalanceProvider{}.Authorize(ctx, req)
}

// While the payment provider fails every call, the health page shows its
// breaker open, with its failures; Elasticsearch's stays closed.
func TestConsoleHealthShowsAnOpenBreaker(t *testing.T) {
	t.Parallel()
	provider := &downPayments{}
	provider.down.Store(true)
	f := setupWith(t, systemtest.Start(t, systemtest.Options{API: true, Service: []service.Option{service.WithPaymentProvider(provider)}}))
	f.placeOrder(t, f.customer.ID)
	var body string
	require.Eventually(t, func() bool {
		_, _, body = get(t, f.sys.URL+"/console/fragments/health", f.admin)
		return strings.Contains(body, `data-breaker="payment_provider"><span class="badge status-failed">OPEN</span>`)
	}, time.Minute, 100*time.Millisecond, "the payment provider's breaker opens")
	require.Regexp(t, `(?s)data-breaker="payment_provider">.*?since .*? · last failure \d{4}-`, body)
	require.Contains(t, body, `data-breaker="elasticsearch"><span class="badge status-confirmed">CLOSED</span>`)
	provider.down.Store(false)
}
