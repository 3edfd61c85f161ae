package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
)

// The demo chat of `gatehouse dev`: one page and its ES modules, served
// under ChatStaticPrefix, with no inline script or style.
//
//go:embed chat
var chatFS embed.FS

var chatPage = template.Must(template.ParseFS(chatFS, "chat/index.html"))

// ChatStaticPrefix is the URL path the demo chat's assets are served under.
const ChatStaticPrefix = "/chat/static"

// Chat is the data of the demo chat page.
type Chat struct {
	// AppKey is the Pusher key of the app the chat runs on.
	AppKey string
	// AppID is the app's id (for /pusher/auth?app=).
	AppID string
	// Channel is the presence channel everyone chats in.
	Channel string
	// LoginURL starts a login that returns to the chat.
	LoginURL string
}

// RenderChat writes the demo chat page.
func RenderChat(w io.Writer, data Chat) error {
	if err := chatPage.Execute(w, data); err != nil {
		return fmt.Errorf("web: chat: %w", err)
	}
	return nil
}

// ChatStatic returns the demo chat's assets (scripts and stylesheet).
func ChatStatic() fs.FS {
	sub, err := fs.Sub(chatFS, "chat/static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}
