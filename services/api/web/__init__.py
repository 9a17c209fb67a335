"""The web pages and the sign-in that opens them: pages, their languages, single sign-on
through the agency's OpenID Connect provider."""
