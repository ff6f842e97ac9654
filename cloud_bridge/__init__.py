"""The cloud bridge: MQTT vitals in, time series and alerts out (DESIGN §1, §3 to §6)."""
