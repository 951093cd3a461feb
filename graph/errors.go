package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
)

// This file is the one place where errors become GraphQL errors. Every
// error a client sees carries extensions.code, one of the contract's codes
// (errcode.Codes), and extensions.requestId, the id also sent in the
// X-Request-Id header and logged with internal errors.
//
// The mapping:
//   - a coded domain error (errcode.Error) keeps its code and message; its
//     details become extension fields (e.g. extensions.field = "items");
//   - errors about the request itself — GraphQL parse and validation
//     failures (unknown fields, wrong literal or variable types), the
//     complexity, depth and token limits, an undecodable body — are
//     INVALID_ORDER_DATA, the contract's code for input that can never
//     succeed as sent, with gqlgen's own code kept in extensions.reason
//     (GRAPHQL_VALIDATION_FAILED, GRAPHQL_PARSE_FAILED,
//     COMPLEXITY_LIMIT_EXCEEDED, DEPTH_LIMIT_EXCEEDED);
//   - everything else, panics included, is INTERNAL: logged with the
//     request id and answered as "internal error" without details.

// Reasons the handler adds next to INVALID_ORDER_DATA for its own limits.
const (
	reasonDepthLimit      = "DEPTH_LIMIT_EXCEEDED"
	reasonComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"
	reasonBodyTooLarge    = "BODY_TOO_LARGE"
	reasonBadRequest      = "BAD_REQUEST"
)

func init() {
	// Like gqlgen's validation failures, an over-deep or over-complex
	// query is a protocol error: HTTP 422, or an error message on a
	// websocket.
	gqlerrcode.RegisterErrorType(reasonDepthLimit, gqlerrcode.KindProtocol)
	gqlerrcode.RegisterErrorType(reasonComplexityLimit, gqlerrcode.KindProtocol)
}

// internalMessage is all a client learns about an internal error.
const internalMessage = "internal error"

// maxRequestErrorMessage bounds messages about malformed requests: gqlgen
// quotes the whole body when it cannot decode it.
const maxRequestErrorMessage = 300

type errorPresenter struct {
	logger *slog.Logger
}

// present is the server's ErrorPresenterFunc.
func (p errorPresenter) present(ctx context.Context, err error) *gqlerror.Error {
	var src *gqlerror.Error
	if !errors.As(err, &src) {
		src = gqlerror.WrapPath(graphql.GetPath(ctx), err)
	}
	out := &gqlerror.Error{Err: err, Message: src.Message, Path: src.Path, Locations: src.Locations, Rule: src.Rule}
	ext := map[string]any{}
	requestID := RequestID(ctx)
	if requestID != "" {
		ext["requestId"] = requestID
	}
	out.Extensions = ext

	var coded *errcode.Error
	switch {
	case errors.As(err, &coded):
		ext["code"] = string(coded.Code)
		if coded.Code == errcode.Internal {
			if !errcode.IsRetryable(err) {
				p.logInternal(ctx, out, err)
				return out
			}
			// A deliberate, retryable refusal (at capacity): its message
			// reveals nothing internal and tells the client what to do.
			p.logger.WarnContext(ctx, "graphql request refused, retryable", "request_id", RequestID(ctx), "error", err.Error())
		}
		out.Message = coded.Message
		for k, v := range coded.Details {
			if _, taken := ext[k]; !taken {
				ext[k] = v
			}
		}
		if coded.Code == errcode.Unauthenticated {
			// An expired or forged token says more than "authentication
			// required".
			var tokenErr *errcode.Error
			if errors.As(auth.TokenError(ctx), &tokenErr) {
				out.Message = tokenErr.Message
			}
		}
	case protocolCode(src) != "":
		code := protocolCode(src)
		if errcode.Code(code).Valid() {
			ext["code"] = code
			break
		}
		ext["code"] = string(errcode.InvalidOrderData)
		ext["reason"] = code
	case isInputCoercion(err):
		ext["code"] = string(errcode.InvalidOrderData)
	case src.Err == nil && len(src.Path) == 0:
		// Errors gqlgen's transports raise about the request itself
		// (undecodable JSON, unreadable body) carry no code, no path and
		// no cause.
		ext["code"] = string(errcode.InvalidOrderData)
		ext["reason"] = reasonBadRequest
		out.Message = truncate(out.Message, maxRequestErrorMessage)
	default:
		ext["code"] = string(errcode.Internal)
		p.logInternal(ctx, out, err)
	}
	return out
}

// logInternal records the real error and replaces the answer with a
// message that reveals nothing.
func (p errorPresenter) logInternal(ctx context.Context, out *gqlerror.Error, err error) {
	attrs := []any{"request_id", RequestID(ctx), "error", err.Error()}
	if out.Path != nil {
		attrs = append(attrs, "path", out.Path.String())
	}
	if graphql.HasOperationContext(ctx) {
		if name := graphql.GetOperationContext(ctx).OperationName; name != "" {
			attrs = append(attrs, "operation", name)
		}
	}
	var pe *panicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.stack))
	}
	p.logger.ErrorContext(ctx, "graphql request failed", attrs...)
	out.Message = internalMessage
}

// recover is the server's RecoverFunc: a panicking resolver becomes an
// INTERNAL error of its field (logged with its stack by present), never a
// crashed request.
func (p errorPresenter) recover(_ context.Context, v any) error {
	return &panicError{value: v, stack: debug.Stack()}
}

type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// protocolCode is the code gqlgen (or one of our extensions) set on an
// error about the request, e.g. GRAPHQL_VALIDATION_FAILED.
func protocolCode(e *gqlerror.Error) string {
	if e == nil {
		return ""
	}
	code, _ := e.Extensions["code"].(string)
	return code
}

// isInputCoercion recognizes the errors of gqlgen's built-in scalars when
// an argument cannot be converted (e.g. an Int out of range).
func isInputCoercion(err error) bool {
	var intErr *graphql.IntegerError
	var overflow *graphql.NumberOverflowError
	var numErr *strconv.NumError
	return errors.As(err, &intErr) || errors.As(err, &overflow) || errors.As(err, &numErr)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
