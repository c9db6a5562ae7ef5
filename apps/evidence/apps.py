from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "apps.evidence"
    label = "evidence"
    verbose_name = "Evidence bundles"

    def ready(self) -> None:
        # The ledger imports nothing of what a bundle covers (allocations, contracts, statements):
        # the evidence app registers its check of a bundle against the live ledger, which
        # `manage.py verify_ledger --bundle FILE` runs.
        from apps.evidence.verification import evidence_bundle_check_live
        from apps.ledger.verification import register_bundle_check

        register_bundle_check(evidence_bundle_check_live)
