"""Purpose-bound consent: vocabulary, consents, receipts and the policy decision point."""
