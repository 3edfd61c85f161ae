package handlers

import (
	"context"
	"encoding/base64"
)

type contextT = context.Context

func jsonSegment(seg string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(seg) }

func boolPtr(b bool) *bool { return &b }
