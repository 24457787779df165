"""The console's settings, from the environment (RCM_CONSOLE_*; the provider and the port may also come
from the RCM_OIDC_* and RCM_HTTP_* names every service reads)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {"registration": 8101, "coding": 8102, "claims": 8103, "payments": 8104, "ar_followup": 8105}


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_CONSOLE_", extra="ignore", validate_by_name=True)

    # The OpenID Connect provider people sign in with, and this console's (public) client there.
    issuer: str = Field("", validation_alias=_alias("RCM_CONSOLE_ISSUER", "RCM_OIDC_ISSUER"))
    audience: str = Field("openrcm-api", validation_alias=_alias("RCM_CONSOLE_AUDIENCE", "RCM_OIDC_AUDIENCE"))
    client_id: str = "rcm-console"
    client_secret: SecretStr | None = None  # only for a confidential client (client_secret_post); PKCE either way
    scopes: str = "openid profile"
    # Where people reach the console (the redirect URI is <public_url>/auth/callback); https makes the
    # session cookie Secure and adds HSTS.
    public_url: str = "http://127.0.0.1:8000"
    allow_http: bool = Field(False, validation_alias=_alias("RCM_CONSOLE_ALLOW_HTTP", "RCM_OIDC_ALLOW_HTTP"))
    # The services' base URLs (the console calls their APIs with the person's token).
    registration_url: str = f"http://127.0.0.1:{SERVICE_PORTS['registration']}"
    coding_url: str = f"http://127.0.0.1:{SERVICE_PORTS['coding']}"
    claims_url: str = f"http://127.0.0.1:{SERVICE_PORTS['claims']}"
    payments_url: str = f"http://127.0.0.1:{SERVICE_PORTS['payments']}"
    ar_url: str = f"http://127.0.0.1:{SERVICE_PORTS['ar_followup']}"
    service_timeout_seconds: float = 15.0
    # How people see things: the office's name and time zone (every time is shown in it).
    office_name: str = "OpenRCM billing office"
    time_zone: str = "America/Chicago"
    page_size: int = Field(25, ge=5, le=200)
    # Sessions (kept in the console's memory: the browser holds only a random id).
    session_idle_minutes: int = Field(30, ge=1)
    session_max_hours: int = Field(10, ge=1)
    http_host: str = Field("127.0.0.1", validation_alias=_alias("RCM_CONSOLE_HTTP_HOST", "RCM_HTTP_HOST"))
    http_port: int = Field(8000, validation_alias=_alias("RCM_CONSOLE_HTTP_PORT", "RCM_HTTP_PORT"))
    log_level: str = Field("INFO", validation_alias=_alias("RCM_CONSOLE_LOG_LEVEL", "RCM_LOG_LEVEL"))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/auth/callback"

    def service_url(self, service: str) -> str:
        return str(getattr(self, "ar_url" if service == "ar_followup" else f"{service}_url")).rstrip("/")
