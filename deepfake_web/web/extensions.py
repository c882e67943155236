"""Flask extensions, created unbound and attached to the app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .ratelimit import client_address


class Base(DeclarativeBase):
    """Declarative base of the application's models."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_address)  # limits on the upload and sign-in views only
login_manager = LoginManager()  # accounts mode only (AUTH=accounts): see auth/login.py
