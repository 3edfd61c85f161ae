package bench

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
)

// floorES256 is every floor's token check: one ES256 signature over a
// compact JWS, and nothing else (no header, claims or algorithm checks).
func floorES256(pub *ecdsa.PublicKey, tok string) bool {
	dot := strings.LastIndexByte(tok, '.')
	if dot < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || len(sig) != 64 {
		return false
	}
	h := sha256.Sum256([]byte(tok[:dot]))
	return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}
