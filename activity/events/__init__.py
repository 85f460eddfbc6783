"""The calendar event: placeholders, time zones, subscription ids, a contact's plan."""
