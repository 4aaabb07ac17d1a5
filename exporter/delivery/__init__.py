"""Pushing packages to external personal-data services, under a citizen's consent or a
representative's mandate.

- :mod:`~exporter.delivery.registry`: the services (name, age key, webhook or S3 bucket);
- :mod:`~exporter.delivery.consents` and :mod:`~exporter.delivery.mandates`: what a
  citizen allowed, with signed receipts (:mod:`~exporter.delivery.receipts`);
- :mod:`~exporter.delivery.deliveries`: creating, cancelling and retrying deliveries;
- :mod:`~exporter.delivery.sending`: the deliver job (leases, fencing, retries);
- :mod:`~exporter.delivery.targets`: how bytes reach a service (webhook, S3);
- :mod:`~exporter.delivery.receiver`: the reference receiver (``egnedata receive``).
"""
