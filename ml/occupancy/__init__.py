"""Facilities: attendance forecasts, overcrowding risk and room reassignment for the campus timetable."""
