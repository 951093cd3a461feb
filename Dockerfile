# The one orderflow binary in a small image; every role is a subcommand.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/orderflow ./cmd/orderflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orderflow /orderflow
EXPOSE 8080
ENTRYPOINT ["/orderflow"]
CMD ["all"]
