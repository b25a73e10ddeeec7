"""Lodestone's portfolio app: agencies, companies, projects, deals, instruments and their values."""
