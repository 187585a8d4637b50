"""haochaping: the streaming pipeline of a government-service 好差评 review system."""
