"""Pure writers and readers of the package formats.

JSON-LD, CSV, HTML, the deterministic ZIP container, the SHA256SUMS manifest, minisign
signatures and age encryption. Nothing here touches a database, a queue or the network,
and nothing here imports ``exporter``.
"""
