"""Alert delivery through apprise: DingTalk, WeCom, Slack, e-mail, webhooks, from URLs alone."""

import dagster as dg
from pydantic import Field


class Alerter(dg.ConfigurableResource):
    """Sends alerts to the apprise URLs in `urls` (comma separated); empty means alerts are off."""

    urls: str = Field(default="", description="apprise URLs, comma separated (SUGARS_ALERT_URLS)")
    ui_base_url: str = Field(
        default="http://127.0.0.1:3000", description="where the Dagster UI is reached, for links to runs"
    )

    def url_list(self) -> list[str]:
        return [url.strip() for url in self.urls.split(",") if url.strip()]

    @property
    def enabled(self) -> bool:
        return bool(self.url_list())

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_base_url.rstrip('/')}/runs/{run_id}"

    def send(self, title: str, body: str) -> None:
        """Deliver to every URL; raise if any delivery failed, so the sensor tick shows it."""
        import apprise

        notifier = apprise.Apprise()
        rejected = [url.split("://", 1)[0] + "://…" for url in self.url_list() if not notifier.add(url)]
        if rejected:
            raise ValueError(f"SUGARS_ALERT_URLS holds URLs apprise does not understand: {rejected}")
        if not notifier.notify(title=title, body=body):
            raise RuntimeError(f"alert '{title}' was not delivered to every SUGARS_ALERT_URLS target")
