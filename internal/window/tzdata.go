package window

// The IANA time zone database is built into the binary, so the admission
// webhook and the controller accept the same zones whatever the image carries.
import _ "time/tzdata"
