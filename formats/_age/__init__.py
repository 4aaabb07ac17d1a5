"""The implementation of :mod:`formats.age`, split by concern.

``primitives`` (HKDF, ChaCha20-Poly1305, canonical base64), ``bech32`` (key strings),
``recipients`` (X25519 and scrypt stanzas), ``header`` (the textual header and its
MAC), ``armor`` (PEM-style ASCII armor), ``stream`` (the STREAM payload) and ``api``
(the public functions). Import from :mod:`formats.age`, not from here.
"""
