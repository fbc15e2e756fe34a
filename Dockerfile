# Built from the static binary that `make build` leaves in bin/ (CGO off).
FROM scratch
COPY bin/tokenstore /tokenstore
VOLUME /data
EXPOSE 9200 9300
ENTRYPOINT ["/tokenstore", "serve", "--data-dir", "/data"]
