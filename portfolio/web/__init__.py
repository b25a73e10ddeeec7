"""Staff web pages: dashboard, deals, companies, projects, agencies, milestones, refresh runs, exports."""
