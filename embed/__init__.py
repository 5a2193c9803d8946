"""The delivery promise in merchants' own web pages: the embeddable script, the CORS rule that lets their
pages ask for quotes with a publishable key, and a demo shop page for development."""
