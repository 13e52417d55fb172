/* Unit tests for rt_channel_name: charset, length limits and prefix classification (§5.1). */
#include "rt_channel_name.h"

#include "rt_test.h"

#define KIND(s) rt_channel_kind_of(rt_str_c(s))
#define VALID(s) rt_channel_name_valid(rt_str_c(s), RT_CHANNEL_NAME_MAX)

static void private_encrypted_cache_prefix_is_encrypted_with_cache(void)
{
    struct rt_channel_kind k = KIND("private-encrypted-cache-x");
    ASSERT_EQ(k.type, RT_CHANNEL_ENCRYPTED);
    ASSERT_TRUE(k.cache);
}

static void private_encrypted_prefix_is_encrypted_without_cache(void)
{
    struct rt_channel_kind k = KIND("private-encrypted-x");
    ASSERT_EQ(k.type, RT_CHANNEL_ENCRYPTED);
    ASSERT_FALSE(k.cache);
}

static void private_cache_prefix_is_private_with_cache(void)
{
    struct rt_channel_kind k = KIND("private-cache-x");
    ASSERT_EQ(k.type, RT_CHANNEL_PRIVATE);
    ASSERT_TRUE(k.cache);
}

static void private_prefix_is_private(void)
{
    struct rt_channel_kind k = KIND("private-foobar");
    ASSERT_EQ(k.type, RT_CHANNEL_PRIVATE);
    ASSERT_FALSE(k.cache);
}

static void private_encrypted_without_trailing_hyphen_is_plain_private(void)
{
    struct rt_channel_kind k = KIND("private-encryptedfoo");
    ASSERT_EQ(k.type, RT_CHANNEL_PRIVATE);
    ASSERT_FALSE(k.cache);
}

static void presence_cache_prefix_is_presence_with_cache(void)
{
    struct rt_channel_kind k = KIND("presence-cache-room");
    ASSERT_EQ(k.type, RT_CHANNEL_PRESENCE);
    ASSERT_TRUE(k.cache);
}

static void presence_prefix_is_presence(void)
{
    struct rt_channel_kind k = KIND("presence-room-1");
    ASSERT_EQ(k.type, RT_CHANNEL_PRESENCE);
    ASSERT_FALSE(k.cache);
}

static void cache_prefix_is_public_with_cache(void)
{
    struct rt_channel_kind k = KIND("cache-prices");
    ASSERT_EQ(k.type, RT_CHANNEL_PUBLIC);
    ASSERT_TRUE(k.cache);
}

static void privatefoo_without_hyphen_is_public(void)
{
    struct rt_channel_kind k = KIND("privatefoo");
    ASSERT_EQ(k.type, RT_CHANNEL_PUBLIC);
    ASSERT_FALSE(k.cache);
    ASSERT_EQ(KIND("presencefoo").type, RT_CHANNEL_PUBLIC);
    ASSERT_FALSE(KIND("cachefoo").cache);
}

static void prefix_match_is_case_sensitive(void)
{
    ASSERT_EQ(KIND("Private-x").type, RT_CHANNEL_PUBLIC);
    ASSERT_EQ(KIND("PRESENCE-x").type, RT_CHANNEL_PUBLIC);
}

static void server_to_user_prefix_is_server_to_user(void)
{
    ASSERT_EQ(KIND("#server-to-user-42").type, RT_CHANNEL_SERVER_TO_USER);
    ASSERT_FALSE(KIND("#server-to-user-42").cache);
}

static void needs_auth_for_private_presence_encrypted_only(void)
{
    ASSERT_TRUE(rt_channel_needs_auth(RT_CHANNEL_PRIVATE));
    ASSERT_TRUE(rt_channel_needs_auth(RT_CHANNEL_PRESENCE));
    ASSERT_TRUE(rt_channel_needs_auth(RT_CHANNEL_ENCRYPTED));
    ASSERT_FALSE(rt_channel_needs_auth(RT_CHANNEL_PUBLIC));
    ASSERT_FALSE(rt_channel_needs_auth(RT_CHANNEL_SERVER_TO_USER));
}

static void name_with_every_allowed_character_is_valid(void)
{
    ASSERT_TRUE(VALID("AZaz09_-=@,.;"));
    ASSERT_TRUE(VALID("x"));
}

static void name_with_disallowed_characters_is_invalid(void)
{
    ASSERT_FALSE(VALID("has space"));
    ASSERT_FALSE(VALID("slash/x"));
    ASSERT_FALSE(VALID("colon:x"));
    ASSERT_FALSE(VALID("star*"));
    ASSERT_FALSE(VALID("caf\xc3\xa9"));
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){"a\0b", 3}, RT_CHANNEL_NAME_MAX));
}

static void empty_and_null_names_are_invalid(void)
{
    ASSERT_FALSE(VALID(""));
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){NULL, 0}, RT_CHANNEL_NAME_MAX));
}

static void name_of_200_bytes_is_valid_and_201_is_not(void)
{
    char name[202];
    memset(name, 'a', sizeof name);
    ASSERT_TRUE(rt_channel_name_valid((struct rt_str){name, 200}, RT_CHANNEL_NAME_MAX));
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){name, 201}, RT_CHANNEL_NAME_MAX));
}

static void lower_per_app_max_length_is_enforced(void)
{
    char name[165];
    memset(name, 'a', sizeof name);
    ASSERT_TRUE(rt_channel_name_valid((struct rt_str){name, 164}, 164));
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){name, 165}, 164));
}

static void max_length_above_200_is_clamped_to_200(void)
{
    char name[201];
    memset(name, 'a', sizeof name);
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){name, 201}, 1000));
}

static void server_to_user_name_with_valid_id_is_valid(void)
{
    ASSERT_TRUE(VALID("#server-to-user-42"));
    ASSERT_TRUE(VALID("#server-to-user-user@example.com"));
}

static void other_hash_names_are_invalid(void)
{
    ASSERT_FALSE(VALID("#server-to-user-"));
    ASSERT_FALSE(VALID("#server-to-user-a b"));
    ASSERT_FALSE(VALID("#server-to-user-#1"));
    ASSERT_FALSE(VALID("#internal"));
    ASSERT_FALSE(VALID("#"));
    ASSERT_FALSE(VALID("private-#x"));
}

static void server_to_user_id_over_128_characters_is_invalid(void)
{
    char name[16 + 130];
    memcpy(name, "#server-to-user-", 16);
    memset(name + 16, 'u', 129);
    ASSERT_TRUE(rt_channel_name_valid((struct rt_str){name, 16 + 128}, RT_CHANNEL_NAME_MAX));
    ASSERT_FALSE(rt_channel_name_valid((struct rt_str){name, 16 + 129}, RT_CHANNEL_NAME_MAX));
}

static void server_to_user_id_is_the_suffix(void)
{
    struct rt_str id = rt_server_to_user_id(rt_str_c("#server-to-user-42"));
    ASSERT_MEM_EQ(id.p, id.n, "42");
}

static void server_to_user_id_is_null_for_other_names(void)
{
    ASSERT_NULL(rt_server_to_user_id(rt_str_c("private-x")).p);
    ASSERT_NULL(rt_server_to_user_id(rt_str_c("#server-to-user-")).p);
    ASSERT_EQ(rt_server_to_user_id(rt_str_c("#server-to-user-")).n, 0u);
}

static void user_id_validation_uses_channel_charset_and_limit(void)
{
    ASSERT_TRUE(rt_user_id_valid(rt_str_c("42"), 128));
    ASSERT_TRUE(rt_user_id_valid(rt_str_c("a-b_c=d@e,f.g;h"), 128));
    ASSERT_FALSE(rt_user_id_valid(rt_str_c(""), 128));
    ASSERT_FALSE(rt_user_id_valid(rt_str_c("a b"), 128));
    ASSERT_FALSE(rt_user_id_valid(rt_str_c("abc"), 2));
    ASSERT_TRUE(rt_user_id_valid(rt_str_c("ab"), 2));
}

static const struct rt_test tests[] = {
    RT_TEST(private_encrypted_cache_prefix_is_encrypted_with_cache),
    RT_TEST(private_encrypted_prefix_is_encrypted_without_cache),
    RT_TEST(private_cache_prefix_is_private_with_cache),
    RT_TEST(private_prefix_is_private),
    RT_TEST(private_encrypted_without_trailing_hyphen_is_plain_private),
    RT_TEST(presence_cache_prefix_is_presence_with_cache),
    RT_TEST(presence_prefix_is_presence),
    RT_TEST(cache_prefix_is_public_with_cache),
    RT_TEST(privatefoo_without_hyphen_is_public),
    RT_TEST(prefix_match_is_case_sensitive),
    RT_TEST(server_to_user_prefix_is_server_to_user),
    RT_TEST(needs_auth_for_private_presence_encrypted_only),
    RT_TEST(name_with_every_allowed_character_is_valid),
    RT_TEST(name_with_disallowed_characters_is_invalid),
    RT_TEST(empty_and_null_names_are_invalid),
    RT_TEST(name_of_200_bytes_is_valid_and_201_is_not),
    RT_TEST(lower_per_app_max_length_is_enforced),
    RT_TEST(max_length_above_200_is_clamped_to_200),
    RT_TEST(server_to_user_name_with_valid_id_is_valid),
    RT_TEST(other_hash_names_are_invalid),
    RT_TEST(server_to_user_id_over_128_characters_is_invalid),
    RT_TEST(server_to_user_id_is_the_suffix),
    RT_TEST(server_to_user_id_is_null_for_other_names),
    RT_TEST(user_id_validation_uses_channel_charset_and_limit),
};

RT_TEST_MAIN("channel_name", tests)
