//! The emulator's command-line flags, shared by the `stripe-emulator` binary and the app's
//! `billing-portal stripe-emulator` subcommand.

/// Where the emulator listens, the key it accepts, and where it delivers webhooks.
#[derive(Clone, Debug, clap::Args)]
pub struct EmulatorArgs {
    #[arg(long, default_value_t = 12111)]
    pub port: u16,
    /// The address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The sk_test_ key it accepts; a random one when not given.
    #[arg(long, env = "STRIPE_EMULATOR_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Deliver signed webhooks here, e.g. http://127.0.0.1:3000/webhooks/stripe
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// The whsec_ secret webhooks are signed with.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
}

impl EmulatorArgs {
    /// Runs the emulator alone with these flags until Ctrl-C (see [`crate::run_alone`]).
    pub async fn run(self) -> Result<(), String> {
        crate::run_alone(
            (self.host, self.port).into(),
            self.secret,
            self.webhook_url,
            self.webhook_secret,
        )
        .await
    }
}
