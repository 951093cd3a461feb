package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/graph/generated"
	"github.com/orderflow/orderflow/internal/auth"
)

// The domain's bounds reach clients through the GraphQL API: each value of
// issue 11 and its neighbours is refused with INVALID_ORDER_DATA naming the
// field and the bound, below HTTP 500, and nothing is recorded.
func TestDomainBoundsReachTheAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mug := f.createProduct(t, "10.00", 15)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)
	before := f.eventCount(t)

	order := func(edit func(in map[string]any)) map[string]any {
		in := placeOrderInput(uuid.NewString(), mug.ID, 1)
		edit(in)
		return map[string]any{"in": in}
	}
	address := func(field, value string) map[string]any {
		return order(func(in map[string]any) { in["shippingAddress"].(map[string]any)[field] = value })
	}
	halfMiB := strings.Repeat("x", 512<<10)
	manyProducts := make([]map[string]any, limits.MaxOrderLines+1)
	for i := range manyProducts {
		manyProducts[i] = map[string]any{"productId": uuid.NewString(), "quantity": 1}
	}
	const (
		createProduct    = `mutation($in: CreateProductInput!) { createProduct(input: $in) { id } }`
		registerCustomer = `mutation($in: RegisterCustomerInput!) { registerCustomer(input: $in) { id } }`
	)
	productInput := func(field string, value any) map[string]any {
		in := map[string]any{"sku": "SKU-" + uuid.NewString()[:8], "name": "Mug", "price": "1.00", "initialStock": 1}
		in[field] = value
		return map[string]any{"in": in}
	}
	customerInput := func(field string, value any) map[string]any {
		in := map[string]any{"email": uuid.NewString() + "@example.com", "name": "Ada", "initialCredit": "1.00"}
		in[field] = value
		return map[string]any{"in": in}
	}

	cases := []struct {
		name, token, query string
		vars               map[string]any
		mentions           []string // the field and the bound
	}{
		{"quantity 2147483647", token, placeOrderMutation, order(func(in map[string]any) {
			in["items"] = []any{map[string]any{"productId": mug.ID, "quantity": 2147483647}}
		}), []string{"items[0].quantity", "10000"}},
		{"two lines of one product", token, placeOrderMutation, order(func(in map[string]any) {
			in["items"] = []any{map[string]any{"productId": mug.ID, "quantity": 1}, map[string]any{"productId": mug.ID, "quantity": 2}}
		}), []string{"items[1].productId", "lines 0 and 1"}},
		{"51 lines, refused before any lookup", token, placeOrderMutation, order(func(in map[string]any) { in["items"] = manyProducts }), []string{"items", "50"}},
		{"half a MiB of street", token, placeOrderMutation, address("street", halfMiB), []string{"shippingAddress.street", "200"}},
		{"street with a line break", token, placeOrderMutation, address("street", "1 Main St\n2nd floor"), []string{"shippingAddress.street", "control"}},
		{"city of white space", token, placeOrderMutation, address("city", "\u00a0\u3000"), []string{"shippingAddress.city"}},
		{"zip with NUL", token, placeOrderMutation, address("zip", "123\x0045"), []string{"shippingAddress.zip"}},
		{"idempotency key too long", token, placeOrderMutation, order(func(in map[string]any) {
			in["idempotencyKey"] = strings.Repeat("k", limits.MaxIdempotencyKeyLength+1)
		}), []string{"idempotencyKey", "200"}},
		{"blank payment type", token, placeOrderMutation, order(func(in map[string]any) {
			in["paymentMethod"] = map[string]any{"type": " ", "token": "tok"}
		}), []string{"paymentMethod.type"}},
		{"half a MiB of sku", f.admin, createProduct, productInput("sku", halfMiB), []string{"sku", "64"}},
		{"half a MiB of product name", f.admin, createProduct, productInput("name", halfMiB), []string{"name", "200"}},
		{"product name of white space", f.admin, createProduct, productInput("name", " \t "), []string{"name"}},
		{"price above the maximum", f.admin, createProduct, productInput("price", "1000000000.01"), []string{"price", "1000000000.00"}},
		{"half a MiB of customer name", f.admin, registerCustomer, customerInput("name", halfMiB), []string{"name", "200"}},
		{"half a MiB of email", f.admin, registerCustomer, customerInput("email", halfMiB+"@example.com"), []string{"email", "254"}},
		{"email with a space", f.admin, registerCustomer, customerInput("email", "ada lovelace@example.com"), []string{"email"}},
		{"initial credit above the maximum", f.admin, registerCustomer, customerInput("initialCredit", "1000000000.01"), []string{"initialCredit", "1000000000.00"}},
		{"restock past 32 bits", f.admin, `mutation($id: ID!) { restockProduct(productId: $id, quantity: 2147483647) { id available } }`,
			map[string]any{"id": mug.ID}, []string{"quantity", "2147483647"}},
		{"funds above the maximum", f.admin, `mutation($id: ID!) { addFunds(customerId: $id, amount: "1000000000.01") { id } }`,
			map[string]any{"id": c.ID}, []string{"amount", "1000000000.00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := f.post(t, tc.token, tc.query, tc.vars)
			require.Less(t, res.Status, http.StatusInternalServerError)
			got := requireCode(t, res, "INVALID_ORDER_DATA")
			for _, m := range tc.mentions {
				require.Contains(t, got.Message, m)
			}
			require.Less(t, len(got.Message), 500, "the refusal does not echo the input")
		})
	}

	require.Equal(t, before, f.eventCount(t), "no refused request recorded anything")
}

// The schema states every bound the domain enforces, in the descriptions
// clients read, with the domain's numbers.
func TestSchemaStatesTheDomainBounds(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()

	field := func(typ, name string) string {
		def := schema.Types[typ]
		require.NotNil(t, def, typ)
		f := def.Fields.ForName(name)
		require.NotNil(t, f, "%s.%s", typ, name)
		return f.Description
	}
	argument := func(op, name string) string {
		f := schema.Mutation.Fields.ForName(op)
		require.NotNil(t, f, op)
		a := f.Arguments.ForName(name)
		require.NotNil(t, a, "%s(%s)", op, name)
		return a.Description
	}
	for _, tt := range []struct {
		description string
		bounds      []any
	}{
		{field("CreateProductInput", "sku"), []any{limits.MaxSKULength}},
		{field("CreateProductInput", "name"), []any{limits.MaxProductNameLength}},
		{field("CreateProductInput", "price"), []any{limits.MaxAmount}},
		{field("CreateProductInput", "initialStock"), []any{limits.MaxStock}},
		{argument("restockProduct", "quantity"), []any{limits.MaxStock}},
		{field("RegisterCustomerInput", "email"), []any{limits.MaxEmailLength}},
		{field("RegisterCustomerInput", "name"), []any{limits.MaxCustomerNameLength}},
		{field("RegisterCustomerInput", "initialCredit"), []any{limits.MaxAmount}},
		{argument("addFunds", "amount"), []any{limits.MaxAmount, limits.MaxBalance}},
		{field("AddressInput", "street"), []any{limits.MaxStreetLength}},
		{field("AddressInput", "city"), []any{limits.MaxCityLength}},
		{field("AddressInput", "zip"), []any{limits.MaxZipLength}},
		{field("AddressInput", "country"), []any{limits.MaxCountryLength}},
		{field("AddressInput", "state"), []any{limits.MaxStateLength}},
		{field("PaymentMethodInput", "type"), []any{limits.MaxPaymentTypeLength}},
		{field("PaymentMethodInput", "token"), []any{limits.MaxPaymentTokenLength}},
		{field("OrderItemInput", "productId"), []any{limits.MaxIDLength}},
		{field("OrderItemInput", "quantity"), []any{limits.MaxLineQuantity}},
		{field("PlaceOrderInput", "idempotencyKey"), []any{limits.MaxIdempotencyKeyLength}},
		{field("PlaceOrderInput", "items"), []any{limits.MaxOrderLines, limits.MaxAmount}},
		{argument("cancelOrder", "reason"), []any{limits.MaxReasonLength}},
	} {
		for _, bound := range tt.bounds {
			require.Contains(t, tt.description, fmt.Sprint(bound))
		}
	}
}
