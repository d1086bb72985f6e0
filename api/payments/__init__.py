"""Payment providers behind one interface (:class:`api.payments.base.PaymentProvider`)."""

from __future__ import annotations

from api.payments.base import PaymentProvider
from fairgate.settings import Settings


def provider_from_settings(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "stripe":
        from api.payments.stripe import StripeProvider

        return StripeProvider.from_settings(settings)
    from api.payments.local import LocalProvider

    return LocalProvider(settings)


__all__ = ["PaymentProvider", "provider_from_settings"]
