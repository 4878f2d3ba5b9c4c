"""What every HTML page with forms sends: its security headers, and the message a refused form
shows when its CSRF token is missing or stale."""

EXPIRED = (
    "This form has expired or its security check is missing (are cookies blocked?), so it was"
    " refused. Please try again on this page."
)


def page_headers(style_src: str) -> dict[str, str]:
    """The headers of a page that loads no scripts, frames or third parties; `style_src` says
    where its styles may come from."""
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src {style_src}; img-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        # Not "no-referrer": under it browsers send `Origin: null` with our own forms, and the
        # sign-in check needs their real origin. Other sites still get no referrer.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
