# tocsin: one static binary on a distroless base.
#   docker build -t tocsin .
#   docker run -v $PWD/config.yaml:/etc/tocsin/config.yaml -v tocsin-state:/var/lib/tocsin -p 8080:8080 tocsin
# (set `listen: 0.0.0.0:8080` in the config to publish the port).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: modernc.org/sqlite is pure Go, so the binary is static;
# time/tzdata is embedded by cmd/tocsin, so oncall time zones work on a base
# without /usr/share/zoneinfo.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tocsin ./cmd/tocsin \
 && mkdir -p /out/state

# distroless/static: CA certificates, /etc/passwd with the nonroot user
# (65532), nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tocsin /usr/local/bin/tocsin
COPY --from=build --chown=65532:65532 /out/state /var/lib/tocsin
COPY config.yaml /etc/tocsin/config.yaml
# The non-root user pings through unprivileged ICMP sockets: Docker sets
# net.ipv4.ping_group_range="0 2147483647" inside every container (since
# 20.10). On a runtime that does not, pass
#   --sysctl net.ipv4.ping_group_range="0 2147483647"
# tocsin falls back to raw sockets when it has CAP_NET_RAW (root).
USER 65532:65532
WORKDIR /var/lib/tocsin
VOLUME ["/var/lib/tocsin"]
ENV TOCSIN_CONFIG=/etc/tocsin/config.yaml
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/usr/local/bin/tocsin", "health"]
ENTRYPOINT ["/usr/local/bin/tocsin"]
CMD ["run"]
