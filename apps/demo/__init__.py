"""The demo world (`manage.py seed_demo`): a package above every app, which no app imports."""
