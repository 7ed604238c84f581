"""Vendor adapters: Google Calendar and Twilio behind the protocols activities depend on."""
