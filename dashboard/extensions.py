"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from dashboard.db import Base
from dashboard.rate_limit import RateLimiter

db = SQLAlchemy(model_class=Base, disable_autonaming=True)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
limiter = RateLimiter()
