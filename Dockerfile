# Egne Data: the exporter and its command line.
#   docker build -t egnedata .
#   docker run --rm -v "$PWD/out:/out" egnedata demo --out /out
#   docker run -p 8000:8000 --env-file egnedata.env egnedata serve --host 0.0.0.0
#     (the pages and the API; settings in docs/settings.md, login in docs/login.md)
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter exporter
COPY formats formats
COPY templates templates
COPY workers workers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /var/lib/egnedata --create-home egnedata
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER egnedata
WORKDIR /var/lib/egnedata
ENTRYPOINT ["egnedata"]
CMD ["--help"]
