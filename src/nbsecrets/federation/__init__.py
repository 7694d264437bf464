"""Keyless providers: short-lived OpenAI and Anthropic tokens through AWS workload identity
federation (shared/DESIGN.md, "Keyless providers"; docs/keyless.md).

``settings`` parses what a provider's secret holds instead of a key; ``exchange`` is OpenAI's
token exchange; ``tokenfile`` the Anthropic SDK's identity-token file; ``live`` gets the tokens
all or nothing and keeps them fresh; ``sdk`` gives long-lived SDK clients their arguments.
The STS call itself is :mod:`nbsecrets.aws.identity`. Importing this package imports nothing.
"""
